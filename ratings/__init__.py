"""Ratings, credit scores, red and black lists, savings report."""
