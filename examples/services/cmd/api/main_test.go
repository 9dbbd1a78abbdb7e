package main

import (
	"strings"
	"testing"

	"example.com/platform/config"
)

func TestServe(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	in := strings.NewReader(`{"path": "/greet", "name": "Gopher"}` + "\n" + `{"path": "/nope"}` + "\n")
	var out strings.Builder
	if err := serve(cfg, in, &out); err != nil {
		t.Fatal(err)
	}
	want := `{"status":200,"body":"Hello, Gopher!"}` + "\n" + `{"status":404,"body":"no route /nope"}` + "\n"
	if out.String() != want {
		t.Fatalf("got:\n%s", out.String())
	}
}
