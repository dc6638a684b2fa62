VALUE = 42
__all__ = ["VALUE"]
