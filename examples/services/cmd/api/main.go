// Command api answers JSON requests, one a line on stdin, with JSON responses on stdout
// (the shape of a function behind a gateway; kept free of net/http so the demo builds fast).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"

	"example.com/platform/config"
	"example.com/services/internal/greet"
)

// Version is stamped at build time: -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

type request struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

type response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func handle(cfg config.Config, req request) response {
	switch req.Path {
	case "/healthz":
		return response{200, "ok " + Version}
	case "/greet":
		return response{200, greet.Message(cfg.Greeting, req.Name)}
	default:
		return response{404, "no route " + req.Path}
	}
}

func serve(cfg config.Config, in io.Reader, out io.Writer) error {
	scanner := bufio.NewScanner(in)
	enc := json.NewEncoder(out)
	for scanner.Scan() {
		var req request
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			if err := enc.Encode(response{400, err.Error()}); err != nil {
				return err
			}
			continue
		}
		if err := enc.Encode(handle(cfg, req)); err != nil {
			return err
		}
	}
	return scanner.Err()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(Version)
		return
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve(cfg, os.Stdin, os.Stdout); err != nil {
		log.Fatal(err)
	}
}
