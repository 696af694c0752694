<?xml version="1.0" encoding="UTF-8"?>
<!--
  No host page cache for virtio disks: every disk on the virtio bus gets cache="none" on its
  <driver> (a <driver name="qemu" cache="none"/> is added when the disk has none), so QEMU
  opens it with O_DIRECT. Use it for EBS-style volumes on shared or network storage (iSCSI,
  AoE, NFS) where the node's page cache wastes memory and weakens crash consistency, or
  where live migration needs it. Disks on other buses are left alone; on local file storage
  it may make small writes slower.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain/devices/disk[target/@bus = 'virtio']/driver">
    <xsl:copy>
      <xsl:apply-templates select="@*[name() != 'cache']"/>
      <xsl:attribute name="cache">none</xsl:attribute>
      <xsl:apply-templates select="node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain/devices/disk[target/@bus = 'virtio' and not(driver)]">
    <xsl:copy>
      <xsl:apply-templates select="@*"/>
      <driver name="qemu" cache="none"/>
      <xsl:apply-templates select="node()"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
