"""Leaderboard stage: turns ``results.csv`` into Markdown and static HTML tables."""
