<?xml version="1.0" encoding="UTF-8"?>
<!--
  CPU weight and cap, as XenServer names them: $weight (1-65536, default 256 = normal
  priority) becomes <cputune><shares>, the instance's share of contended CPU time relative
  to other instances (512 gets twice as much as 256); $cap, a percentage of one vCPU
  (default 0 = no cap), becomes <period>100000</period> and <quota>cap * 1000</quota>, a
  hard limit on each vCPU even when the node is idle (50 = half a CPU, 100 = one whole
  CPU; libvirt applies the quota to each vCPU, so more than 100 would mean nothing). Use it
  to favour or throttle instance types. The <cputune> follows <vcpu>; an existing one keeps
  its pinning. An out-of-range value stops the chain with an error. Set the values by
  editing the select of the two <xsl:param> below.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="weight" select="'256'"/>
  <xsl:param name="cap" select="'0'"/>
  <!-- Numbers (NaN when not numeric); an empty value means the default. -->
  <xsl:variable name="w">
    <xsl:choose>
      <xsl:when test="normalize-space($weight) = ''">256</xsl:when>
      <xsl:otherwise><xsl:value-of select="number(normalize-space($weight))"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="c">
    <xsl:choose>
      <xsl:when test="normalize-space($cap) = ''">0</xsl:when>
      <xsl:otherwise><xsl:value-of select="number(normalize-space($cap))"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <xsl:if test="not($w &gt;= 1 and $w &lt;= 65536 and $w = floor($w))">
      <xsl:message terminate="yes">cpu-weight-cap: weight must be a whole number from 1 to 65536 (got '<xsl:value-of select="$weight"/>').</xsl:message>
    </xsl:if>
    <xsl:if test="not($c &gt;= 0 and $c &lt;= 100 and $c = floor($c))">
      <xsl:message terminate="yes">cpu-weight-cap: cap must be a whole percentage of one vCPU from 0 (no cap) to 100 (got '<xsl:value-of select="$cap"/>').</xsl:message>
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
      <period>100000</period>
      <quota><xsl:value-of select="$c * 1000"/></quota>
    </xsl:if>
  </xsl:template>

  <!-- An existing <cputune> keeps everything but the values this rule sets. -->
  <xsl:template match="/domain/cputune">
    <xsl:copy>
      <xsl:apply-templates select="@*"/>
      <xsl:call-template name="limits"/>
      <xsl:apply-templates select="node()[not(self::shares or self::period or self::quota)]"/>
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
