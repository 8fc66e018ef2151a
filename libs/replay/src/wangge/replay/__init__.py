"""Wangge analyst replay."""
