"""Reusable linen modules shared by several families."""
