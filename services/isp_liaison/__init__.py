"""ISP liaison: the provider directory and each provider's view of its orders."""
