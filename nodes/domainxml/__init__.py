"""The domain XML pipeline: instance.xml → XSLT chain → libvirt domain XML → checks.

Pure parts (no Django): facts, instancexml, chain, sandbox, library. The Django side that
collects facts from the database and picks the rules is in pipeline.py.
"""
