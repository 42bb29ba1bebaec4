from streamvault.cli import main

main()
