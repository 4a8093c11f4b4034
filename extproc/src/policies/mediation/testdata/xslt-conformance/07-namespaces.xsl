<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:x="urn:example:extra" xmlns:junk="urn:junk" xmlns="urn:example:out"
  exclude-result-prefixes="x junk">
  <xsl:output method="xml" indent="no"/>
  <xsl:template match="/">
    <result>
      <xsl:for-each select="//x:note"><note from="{../@id}"><xsl:value-of select="."/></note></xsl:for-each>
      <xsl:element name="made" namespace="urn:example:made"><xsl:attribute name="n">1</xsl:attribute></xsl:element>
      <p:kept xmlns:p="urn:example:p"/>
    </result>
  </xsl:template>
</xsl:stylesheet>
