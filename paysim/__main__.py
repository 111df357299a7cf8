from paysim.cli import app

app(prog_name="paysim")
