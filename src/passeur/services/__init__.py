"""Use cases. Web, API and CLI parse input, call a service, and format its output."""
