"""Metrics (数据分析): the hiring funnel, where candidates were lost and how fast the process runs — each figure one
or a few aggregate SQL queries that run the same on SQLite and PostgreSQL, filtered to what the viewer may see."""
