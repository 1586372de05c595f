from bastide.cli.main import app

app(prog_name="bastide")
