package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"example.com/platform/config"
)

func TestGreet(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler(cfg))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/greet?name=Gopher")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "Hello, Gopher!\n" {
		t.Fatalf("body %q", body)
	}
}
