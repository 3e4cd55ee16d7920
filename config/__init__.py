"""Settings for the Center portal: one module of explicit environment reads."""

from config.settings import load_settings

__all__ = ["load_settings"]
