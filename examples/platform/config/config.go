// Package config loads service settings: an embedded default file, then environment overrides.
package config

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
)

//go:embed default.json
var defaultJSON []byte

// Config is what every service reads at start-up.
type Config struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Greeting string `json:"greeting"`
	Workers  int    `json:"workers"`
}

// Default returns the settings embedded in the binary.
func Default() (Config, error) {
	var c Config
	if err := json.Unmarshal(defaultJSON, &c); err != nil {
		return Config{}, fmt.Errorf("embedded default.json: %w", err)
	}
	return c, nil
}

// Load applies EXAMPLE_* overrides (looked up through getenv) to the defaults.
func Load(getenv func(string) string) (Config, error) {
	c, err := Default()
	if err != nil {
		return c, err
	}
	if v := getenv("EXAMPLE_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := getenv("EXAMPLE_GREETING"); v != "" {
		c.Greeting = v
	}
	if v := getenv("EXAMPLE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("EXAMPLE_WORKERS=%q: want a positive whole number", v)
		}
		c.Workers = n
	}
	return c, nil
}
