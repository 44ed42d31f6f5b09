"""The `tandem` subcommands, one module per command group (each has `register(commands)`)."""
