"""rt-example-echo: the smallest possible third-party provider plugin."""
