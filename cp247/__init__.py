"""cp247: the national 24/7 point of contact for cybercrime (Budapest Convention Art 35)."""

__version__ = "0.1.0"
