"""What the tests stand on: servers on 127.0.0.1 (faults, redis), site checks, test spiders,
a fake name resolver and hypothesis strategies."""
