<?xml version="1.0" encoding="UTF-8"?>
<!--
  VNC console for debugging (the commented-out <graphics> line of Eucalyptus's libvirt.xsl):
  a domain without any <graphics> gets <graphics type="vnc" port="-1" autoport="yes"/>
  listening on $listen (127.0.0.1 by default; an empty value leaves the address to the
  node's qemu.conf). Use it briefly, to watch an instance that fails to boot or to drive an
  interactive installer. The VNC server has no password: keep it on the loopback address or
  a trusted network, and turn the rule off afterwards, since it takes a port on the node
  for every instance. To listen elsewhere, edit the select of <xsl:param name="listen"> below.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="listen" select="'127.0.0.1'"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain/devices[not(graphics)]">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
      <graphics type="vnc" port="-1" autoport="yes">
        <xsl:if test="$listen != ''">
          <xsl:attribute name="listen"><xsl:value-of select="$listen"/></xsl:attribute>
        </xsl:if>
      </graphics>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
