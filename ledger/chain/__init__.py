"""The chain adapter: the only code of Sijill that talks to web3.

`RegistryClient` reads and writes the registry; `deployment` deploys it and
keeps the deployment record; `anvil` runs a local chain for development and tests.
"""
