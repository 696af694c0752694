"""Storage on the nodes: the libvirt storage pools each probe finds, with their room."""
