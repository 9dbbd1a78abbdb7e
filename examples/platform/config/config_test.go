package config

import "testing"

func TestDefaultIsEmbedded(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "example" || c.Workers != 2 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadOverrides(t *testing.T) {
	env := map[string]string{"EXAMPLE_GREETING": "Hi", "EXAMPLE_WORKERS": "5"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Greeting != "Hi" || c.Workers != 5 || c.Listen != ":8080" {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestLoadRejectsBadWorkers(t *testing.T) {
	_, err := Load(func(k string) string {
		if k == "EXAMPLE_WORKERS" {
			return "zero"
		}
		return ""
	})
	if err == nil {
		t.Fatal("want an error for EXAMPLE_WORKERS=zero")
	}
}
