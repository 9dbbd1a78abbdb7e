// Command worker reads job titles from stdin, one a line, and prints their job IDs.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"example.com/services/internal/greet"
)

// Version is stamped at build time: -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func process(in io.Reader, out io.Writer) (int, error) {
	scanner := bufio.NewScanner(in)
	n := 0
	for scanner.Scan() {
		if scanner.Text() == "" {
			continue
		}
		n++
		fmt.Fprintln(out, greet.JobID(n, scanner.Text()))
	}
	return n, scanner.Err()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(Version)
		return
	}
	if _, err := process(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
