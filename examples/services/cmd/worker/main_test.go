package main

import (
	"os"
	"strings"
	"testing"
)

func TestProcess(t *testing.T) {
	in, err := os.Open("testdata/jobs.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	n, err := process(in, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "0001-resize-images\n0002-send-mail\n"
	if n != 2 || out.String() != want {
		t.Fatalf("got %d jobs:\n%s", n, out.String())
	}
}
