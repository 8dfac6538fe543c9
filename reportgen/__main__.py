"""Run reportgen as ``python -m reportgen``."""

from reportgen.launch import main

main()
