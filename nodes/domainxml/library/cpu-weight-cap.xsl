<?xml version="1.0" encoding="UTF-8"?>
<!--
  CPU weight and cap, as XenServer's credit scheduler names them (seed 002), from the
  instance type's "CPU weight" and "CPU cap" (the chain's parameters $cpu_weight and
  $cpu_cap). The weight (1-65536, 256 = normal priority) becomes <cputune><shares>, the
  instance's share of contended CPU time (512 gets twice as much as 256). The cap, in % of one
  CPU (0 = no cap, 50 = half a CPU, 200 = two CPUs), becomes <global_period>100000 and
  <global_quota>cap * 1000: a hard limit on the whole instance, even when the node is idle.
  The <cputune> follows <vcpu>; an existing one keeps its pinning. A value out of range stops
  the chain with an error.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="cpu_weight" select="'256'"/>
  <xsl:param name="cpu_cap" select="'0'"/>
  <!-- Numbers (NaN when not numeric); an empty value means the default. -->
  <xsl:variable name="w">
    <xsl:choose>
      <xsl:when test="normalize-space($cpu_weight) = ''">256</xsl:when>
      <xsl:otherwise><xsl:value-of select="number(normalize-space($cpu_weight))"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="c">
    <xsl:choose>
      <xsl:when test="normalize-space($cpu_cap) = ''">0</xsl:when>
      <xsl:otherwise><xsl:value-of select="number(normalize-space($cpu_cap))"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="vcpus">
    <xsl:choose>
      <xsl:when test="/domain/vcpu"><xsl:value-of select="number(/domain/vcpu)"/></xsl:when>
      <xsl:otherwise>1</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <xsl:if test="not($w &gt;= 1 and $w &lt;= 65536 and $w = floor($w))">
      <xsl:message terminate="yes">cpu-weight-cap: the CPU weight must be a whole number from 1 to 65536 (got '<xsl:value-of select="$cpu_weight"/>').</xsl:message>
    </xsl:if>
    <xsl:if test="not($c &gt;= 0 and $c &lt;= 100 * $vcpus and $c = floor($c))">
      <xsl:message terminate="yes">cpu-weight-cap: the CPU cap must be a whole percentage from 0 (no cap) to 100 per vCPU, <xsl:value-of select="100 * $vcpus"/> here (got '<xsl:value-of select="$cpu_cap"/>').</xsl:message>
    </xsl:if>
    <xsl:apply-templates/>
  </xsl:template>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template name="limits">
    <shares><xsl:value-of select="$w"/></shares>
    <xsl:if test="$c &gt; 0">
      <global_period>100000</global_period>
      <global_quota><xsl:value-of select="$c * 1000"/></global_quota>
    </xsl:if>
  </xsl:template>

  <!-- An existing <cputune> keeps everything but the values this rule sets. -->
  <xsl:template match="/domain/cputune">
    <xsl:copy>
      <xsl:apply-templates select="@*"/>
      <xsl:call-template name="limits"/>
      <xsl:apply-templates select="node()[not(self::shares or self::global_period or self::global_quota)]"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain[not(cputune)]/vcpu
                       | /domain[not(cputune) and not(vcpu)]/memory">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
    <cputune>
      <xsl:call-template name="limits"/>
    </cputune>
  </xsl:template>
</xsl:stylesheet>
