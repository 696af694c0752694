<?xml version="1.0" encoding="UTF-8"?>
<!--
  Huge pages: back the instance's memory with the host's huge pages
  (<memoryBacking><hugepages/></memoryBacking>, placed right after <currentMemory>, or after
  <memory> when there is no <currentMemory>). Fewer TLB misses make memory-heavy guests
  faster. Use it only on nodes where huge pages are reserved (vm.nr_hugepages, or hugepages=
  on the kernel command line) and enough of them are free for the instance's whole memory:
  otherwise the instance does not start. A <memoryBacking> that is already there gains a
  <hugepages/> if it lacks one; nothing is duplicated.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain[not(memoryBacking)]/currentMemory
                       | /domain[not(memoryBacking) and not(currentMemory)]/memory">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
    <memoryBacking>
      <hugepages/>
    </memoryBacking>
  </xsl:template>

  <xsl:template match="/domain/memoryBacking[not(hugepages)]">
    <xsl:copy>
      <xsl:apply-templates select="@*"/>
      <hugepages/>
      <xsl:apply-templates select="node()"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
