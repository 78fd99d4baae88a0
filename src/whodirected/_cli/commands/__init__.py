"""One module per command; each parses its options, calls one library function, prints."""
