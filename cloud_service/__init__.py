"""tandem's cloud service: a gRPC front for a large model that never sees private context."""
