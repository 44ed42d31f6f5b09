"""Generated gRPC code for the tandem.v1 protocol (see tandem.proto)."""
