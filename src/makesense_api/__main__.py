from makesense_api.cli import app

app()
