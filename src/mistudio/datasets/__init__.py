"""Datasets: text corpora from the hub, disk or the browser, and their tokenizations."""
