"""taskeval: a deploy gate for fine-tuned Task API language models."""

__version__ = "0.1.0"
