"""One ComponentResource per concern; each takes an XxxArgs dataclass and explicit providers."""
