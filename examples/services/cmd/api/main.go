// Command api serves greetings over HTTP.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"example.com/platform/config"
	"example.com/services/internal/greet"
)

// Version is stamped at build time: -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func handler(cfg config.Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s\n", Version)
	})
	mux.HandleFunc("/greet", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greet.Message(cfg.Greeting, r.URL.Query().Get("name")))
	})
	return mux
}

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(Version)
		return
	}
	log.Printf("api %s listening on %s", Version, cfg.Listen)
	log.Fatal(http.ListenAndServe(cfg.Listen, handler(cfg)))
}
