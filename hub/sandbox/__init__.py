"""`hub sandbox`: the hub on embedded defaults for a partner team to connect to; `hub partner`
checks one record the way the processor would. See hub/sandbox/run.py."""
