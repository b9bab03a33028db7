"""Site spiders, one module per site; ``base`` holds what they share."""
