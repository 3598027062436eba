"""The federation tree: chapters of any depth, from the network root down to neighbourhoods."""
