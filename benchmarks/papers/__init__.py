"""One module per replicated paper: its cells, published numbers and claim checks."""
