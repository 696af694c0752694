<?xml version="1.0" encoding="UTF-8"?>
<!--
  Host CPU passthrough: the guest sees the node's exact CPU model and flags
  (<cpu mode="host-passthrough"/>, replacing any <cpu> the domain had but keeping its
  <topology> and <numa>; placed after <features>, before <clock>). Use it for nested KVM
  (the guest needs the host's vmx/svm flag) or for workloads that need every CPU feature.
  Instances then only live-migrate between nodes with identical CPUs and kernels, so enable
  it for homogeneous clusters or instances that never move.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template name="cpu">
    <cpu mode="host-passthrough">
      <xsl:copy-of select="/domain/cpu/topology | /domain/cpu/numa"/>
    </cpu>
  </xsl:template>

  <!-- The old <cpu> goes; the new one follows <features>, or <os> when there are none. -->
  <xsl:template match="/domain/cpu"/>

  <xsl:template match="/domain/features | /domain[not(features)]/os">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
    <xsl:call-template name="cpu"/>
  </xsl:template>
</xsl:stylesheet>
