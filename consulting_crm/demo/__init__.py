"""The demo: a made-up consultancy, written out as real-looking exports and imported."""
