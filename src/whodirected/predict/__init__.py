"""What the command line and the web page predict: inputs (images, folders, clips), batches
and aggregates, and the report written as JSON or CSV."""
