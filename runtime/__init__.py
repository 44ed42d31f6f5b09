"""The runtime tandem's edge and cloud share: llama.cpp wrappers, decoding, KV control, the model
catalog and installer, XDG paths, the configuration loader, secret-file readers, user errors and the
`tandem` command line that gathers each package's commands.

`edge_agent` and `cloud_service` both import this package and `protos`; they never import each other.
"""
