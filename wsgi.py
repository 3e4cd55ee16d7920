from center import create_app

app = create_app()
