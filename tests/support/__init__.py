"""Test support shared by every test package: fake hub, tiny models, real assets, live servers."""
