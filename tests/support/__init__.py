"""Test infrastructure shared by every test module: real go, real git, real repositories."""
