from mistudio.cli import app

app()
