<?xml version="1.0" encoding="UTF-8"?>
<!--
  A second network interface: appends <interface type="network"> on the libvirt network
  $network ("default" unless set) with a virtio model, after the instance's last
  interface; libvirt picks its MAC address. Use it to give instances a leg on a private,
  storage or management network next to their public one. The image must configure the
  extra NIC itself (eth1 or its udev name), and the network must exist on every node that
  runs these instances. The virtio model needs virtio drivers in the image. Pick the
  network by editing the select of <xsl:param name="network"> below.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="network" select="'default'"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template name="nic">
    <interface type="network">
      <source network="{$network}"/>
      <model type="virtio"/>
    </interface>
  </xsl:template>

  <xsl:template match="/domain/devices/interface[last()]">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
    <xsl:call-template name="nic"/>
  </xsl:template>

  <xsl:template match="/domain/devices[not(interface)]">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
      <xsl:call-template name="nic"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
